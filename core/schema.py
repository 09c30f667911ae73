"""OpenAPI schema generation (drf-spectacular) for the house API style.

APIs nest their serializers (`EventCreateApi.Input`, `EventCreateApi.Output`), so plain
class names collide across views; components are named by the qualified name instead
(`EventCreateApiInput`).
"""
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        serializer_class = serializer if isinstance(serializer, type) else type(serializer)
        return serializer_class.__qualname__.replace(".", "")
