"""The shop's URLs: each slow page, and its fixed twin under ``fixed/``."""

from __future__ import annotations

from django.urls import path

from pagedoctor.demo.shop import views

app_name = "shop"

urlpatterns = [
    path("", views.home, name="home"),
    path("fixed/", views.home_fixed, name="home_fixed"),
    # No fixed twin: the fix for this page is an index on Product.type.
    path("products/", views.product_list, name="product_list"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("fixed/products/<slug:slug>/", views.product_detail_fixed, name="product_detail_fixed"),
    path("pizzas/", views.pizza_list, name="pizza_list"),
    path("fixed/pizzas/", views.pizza_list_fixed, name="pizza_list_fixed"),
    path("async/pizzas/", views.pizza_list_async, name="pizza_list_async"),
    path("flowers/<slug:slug>/", views.flower_detail, name="flower_detail"),
    path("fixed/flowers/<slug:slug>/", views.flower_detail_fixed, name="flower_detail_fixed"),
    path("team/", views.team, name="team"),
    path("fixed/team/", views.team_fixed, name="team_fixed"),
    path("report/", views.report, name="report"),
    path("fixed/report/", views.report_fixed, name="report_fixed"),
    path("orders/<slug:number>/thanks/", views.order_thanks, name="order_thanks"),
    path("fixed/orders/<slug:number>/thanks/", views.order_thanks_fixed, name="order_thanks_fixed"),
]
