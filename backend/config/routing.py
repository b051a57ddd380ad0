from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from backend.corrections.consumers import CorrectionAlertsConsumer
from sync.consumers import LiveEventsConsumer

websocket_urlpatterns = [
    path("ws/events/", LiveEventsConsumer.as_asgi()),
    path("ws/corrections/", CorrectionAlertsConsumer.as_asgi()),
]

websocket_application = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
)
