from django.urls import path

from . import testmode, views

app_name = "billing"
urlpatterns = [
    path("pricing/", views.pricing, name="pricing"),
    path("pricing/<slug:slug>/", views.plan, name="plan"),
    path("billing/checkout/", views.checkout, name="checkout"),
    path("billing/return/", views.checkout_return, name="checkout_return"),
    path("billing/manage/", views.manage, name="manage"),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("billing/test/checkout/<str:token>/", testmode.checkout, name="test_checkout"),
    path("billing/test/portal/", testmode.portal, name="test_portal"),
    path("billing/test/receipt/<str:invoice_id>/", testmode.receipt, name="test_receipt"),
]
