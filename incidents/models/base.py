"""What every catalogue model shares: text without control characters, slugs as natural keys."""

from django.db import models

from .. import rules

MARKDOWN_HELP = (
    "Markdown (paragraphs, **bold**, *italic*, lists, links, tables). "
    "HTML is removed when the page is shown (incidents.markup)."
)


class CleanText(models.Model):
    """Text fields are saved without control characters (see rules.clean_text)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        rules.clean_text_fields(self)
        super().save(*args, **kwargs)


class SlugManager(models.Manager):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)
