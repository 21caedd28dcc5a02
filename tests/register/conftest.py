from tests.feedback.conftest import counted  # noqa: F401
from tests.pb.conftest import world  # noqa: F401
from tests.voting.conftest import vw  # noqa: F401
