from .access import is_member


def membership(request):
    """Whether the viewer is a member, for the site chrome (header, calls to action)."""
    return {"viewer_is_member": is_member(getattr(request, "user", None))}
