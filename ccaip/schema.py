"""OpenAPI description of the CCAI Platform endpoint's basic authentication."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CcaipBasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "ccaip.apis.CcaipBasicAuthentication"
    name = "ccaipBasicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "The user name and password the tenant's admin set for CCAI Platform's External Session "
                           "Events (Developer settings › CCAI Platform).",
        }
