"""bench_membership (docs/performance.md) runs, on the users it makes, for every kind of
viewer it times; what it prints is not checked for speed (timings are not tests)."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import Plan


def test_it_times_each_kind_of_viewer_and_cleans_up(db):
    out = StringIO()
    call_command("bench_membership", users=60, calls=2, repeat=1, stdout=out)
    lines = out.getvalue().splitlines()
    assert "60 users" in lines[0]
    assert [line.split(" (")[0] for line in lines[1:5]] == [
        "membership_plan, own subscription",
        "membership_plan, seat on a subscribed team",
        "membership_plan, expired subscription",
        "membership_plan, no subscription",
    ]
    assert "(Bench membership team)" in lines[2] and "(None)" in lines[3]
    assert lines[5].startswith("tokens.resolve, active token")
    call_command("bench_membership", clean=True)
    assert not get_user_model().objects.exists()
    assert not Plan.objects.filter(slug__startswith="bench-membership").exists()
