"""A mailbox's own greeting through the API: upload any WAV, play it, back to the default."""

from __future__ import annotations

import io
import wave

from pbxd.services import Role

from ..db.historydata import tone_wav
from .apitest import ApiTestCase


def browser_wav(seconds: float) -> bytes:
    """A WAV as a PC usually has it: 44.1 kHz stereo."""
    return tone_wav(seconds, rate=44100, channels=2)


class GreetingApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.create_extensions("1001", "1002")

    def put(self, box: str, body: bytes, token: str, content_type: str = "audio/wav"):
        return self.call("PUT", f"/api/v1/voicemail/{box}/greeting", raw=body, token=token,
                         headers={"Content-Type": content_type})  # fmt: skip

    def test_the_owner_sets_plays_and_removes_his_greeting(self) -> None:
        owner = self.user_token(Role.AGENT, "1001", name="alice")
        status, data, _ = self.put("1001", browser_wav(2.0), owner)
        assert status == 200 and abs(data["duration"] - 2.0) < 0.01, data
        played = self.fetch("/api/v1/voicemail/1001/greeting",
                            headers={"Authorization": f"Bearer {owner}"})  # fmt: skip
        with wave.open(io.BytesIO(played.body)) as w:  # what callers will hear: 8 kHz mono
            assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8000, 1, 16000)
        assert self.call("DELETE", "/api/v1/voicemail/1001/greeting", token=owner)[0] == 204
        self.assert_error(self.call("GET", "/api/v1/voicemail/1001/greeting", token=owner), 404,
                          "not_found")  # fmt: skip

    def test_others_may_not_change_it_and_bad_files_are_refused(self) -> None:
        other = self.user_token(Role.AGENT, "1002", name="bob")
        self.assert_error(self.put("1001", browser_wav(1.0), other), 403, "forbidden")
        error = self.assert_error(self.put("1001", b"RIFF....WAVEjunk", self.admin), 400,
                                  "invalid_audio")  # fmt: skip
        assert error["field"] == "file"
        too_long = self.put("1001", tone_wav(61.0), self.admin)
        error = self.assert_error(too_long, 400, "invalid_audio")
        assert "60 s" in error["message"]
        self.assert_error(self.put("1001", b"{}", self.admin, "application/json"), 415,
                          "unsupported_media_type")  # fmt: skip
