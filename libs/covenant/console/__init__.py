"""The Covenant console: server-rendered pages for managers, compliance officers and rule owners.

It holds no data of its own. Every page calls the six services over gRPC with the signed-in user's token,
so a screen can never show more than that user's permissions and data scope allow (docs/console.md).
"""
