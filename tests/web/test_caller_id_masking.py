"""The caller ID an agent's phones are shown is masked like every number he sees: his pages
pop calls by call id, so neither his browser nor his desk phone needs the whole number."""

from __future__ import annotations

from pbxd.daemon import Daemon, Settings

from .apitest import ApiTestCase


class ShownNumberTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()

        async def build() -> Daemon:
            return Daemon(Settings(data_dir=self.data_dir, bind="127.0.0.1"), self.services)

        self.daemon = self.io_loop.run_sync(build)
        for number in ("1001", "1002", "1003"):
            self.services.extensions.create(number, f"Ext {number}", f"secret-{number}-x1")
        self.services.users.create_user("nina", "nina-pass-1", "agent", extension="1001")
        self.services.users.create_user("lead", "lead-pass-1", "supervisor", extension="1002")

    def tearDown(self) -> None:
        self.io_loop.run_sync(self.daemon.stop)
        super().tearDown()

    def test_agents_see_customers_masked_and_colleagues_whole(self) -> None:
        shown = self.daemon.legs.shown_number
        assert shown("1001", "13812345678") == "138****5678"  # an agent: partial by default
        assert shown("1001", "1003") == "1003"  # an extension is no customer
        assert shown("1002", "13812345678") == "13812345678"  # a supervisor sees it whole
        assert shown("1003", "13812345678") == "13812345678"  # no user: a plain phone
