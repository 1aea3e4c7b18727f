app_name = "ferries"

urlpatterns: list = []
