from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmark tooling (synthetic incidents); installed only with DEBUG or in tests."""

    name = "bench"
