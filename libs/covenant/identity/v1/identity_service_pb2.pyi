from covenant.identity.v1 import accounts_pb2 as _accounts_pb2
from covenant.identity.v1 import audit_pb2 as _audit_pb2
from covenant.identity.v1 import keys_pb2 as _keys_pb2
from covenant.identity.v1 import org_pb2 as _org_pb2
from covenant.identity.v1 import rbac_pb2 as _rbac_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
