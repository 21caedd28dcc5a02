from tests.pb.conftest import world  # noqa: F401
