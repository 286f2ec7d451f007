"""AWS IoT Core: a core device's thing attributes (the platform facts Greengrass's API does not report)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from .clients import AwsClients


class IotGateway:
    def __init__(self, clients: AwsClients) -> None:
        self.client = clients.iot

    def thing_attributes(self, thing_name: str) -> dict[str, str] | None:
        """The thing's attributes (DescribeThing), e.g. {'accelerator': 'nvidia', 'jetpack': '5.1.2'}; None
        when IoT has no thing of that name."""
        try:
            described = self.client.describe_thing(thingName=thing_name)
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
                return None
            raise
        return {str(k): str(v) for k, v in (described.get('attributes') or {}).items()}
