from django.urls import path

from records import views

urlpatterns = [
    path("health/", views.health),
    path("version/", views.version),
    path("records/", views.create_record),
    path("records/count/", views.count_records),
]
