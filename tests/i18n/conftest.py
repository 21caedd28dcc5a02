from tests.voting.conftest import vw  # noqa: F401  (the voting world, shared)
