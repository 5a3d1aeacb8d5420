"""/api/v1/prompts: upload (browser form and raw body), list, play with Range, delete, the
refusals a user meets, and who may do what."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from pbxd.services import Role, build_services

from ..db.historydata import tone_wav, wav_shape
from .apitest import ADMIN_PASSWORD, ApiTestCase

PROMPTS = "/api/v1/prompts"


def form(
    fields: dict[str, str], file: bytes | None, filename: str = "prompt.wav"
) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser's FormData sends it, and its Content-Type."""
    boundary = f"----pbxdtest{uuid.uuid4().hex}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: audio/wav\r\n\r\n'.encode()
            + file
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class PromptsApiTest(ApiTestCase):
    def setUp(self) -> None:
        self.system_dir = Path(tempfile.mkdtemp(prefix="pbxd-prompts-"))
        for lang in ("zh", "en"):
            (self.system_dir / lang).mkdir()
            (self.system_dir / lang / "welcome.wav").write_bytes(tone_wav(1.0))
        super().setUp()
        self.token = self.login()

    def tearDown(self) -> None:
        super().tearDown()
        shutil.rmtree(self.system_dir, ignore_errors=True)

    def get_app(self):
        # The daemon passes its system prompts directory; ApiTestCase builds without one.
        self.services.close()
        self.services = build_services(self.data_dir, clock=self.wall, prompts_dir=self.system_dir)
        self.services.users.ensure_admin(self.data_dir, ADMIN_PASSWORD)
        return super().get_app()

    # helpers

    def post_form(self, fields: dict[str, str], file: bytes | None, token: str | None = None):
        body, content_type = form(fields, file)
        return self.call(
            "POST",
            PROMPTS,
            raw=body,
            token=token or self.token,
            headers={"Content-Type": content_type},
        )

    def put_wav(self, path: str, data: bytes, token: str | None = None, kind: str = "audio/wav"):
        return self.call(
            "PUT", path, raw=data, token=token or self.token, headers={"Content-Type": kind}
        )

    @property
    def uploads(self) -> Path:
        return self.data_dir / "prompts"

    # uploading

    def test_upload_from_a_browser_form(self) -> None:
        status, data, response = self.post_form(
            {"id": "jingle"}, tone_wav(1.25, rate=44100, channels=2)
        )
        assert status == 201, data
        assert response.headers["Location"] == f"{PROMPTS}/jingle"
        assert data["id"] == "jingle"
        assert (data["source"], data["system"], data["overrides_system"]) == (
            "upload",
            False,
            False,
        )
        assert (data["languages"], data["duration"]) == (["zh", "en"], 1.25)
        assert data["modified"] == "2024-05-01T08:00:00Z"
        assert data["audio"] == f"{PROMPTS}/jingle/audio"
        assert data["files"] == [
            {
                "source": "upload",
                "language": None,
                "plays_in": ["zh", "en"],
                "duration": 1.25,
                "size": 44 + 2 * 10000,
                "modified": "2024-05-01T08:00:00Z",
            }
        ]
        stored = (self.uploads / "jingle.wav").read_bytes()
        assert wav_shape(stored) == (1, 2, 8000, 1.25)

    def test_upload_for_one_language_overrides_the_system_prompt_there(self) -> None:
        status, data, _ = self.post_form({"id": "welcome", "language": "en"}, tone_wav(0.5))
        assert status == 201, data
        assert (data["source"], data["system"], data["overrides_system"]) == (
            "upload",
            True,
            True,
        )
        assert [(f["source"], f["language"], f["plays_in"]) for f in data["files"]] == [
            ("upload", "en", ["en"]),
            ("system", "zh", ["zh"]),
            ("system", "en", []),
        ]
        assert (self.uploads / "en" / "welcome.wav").is_file()

    def test_upload_larger_than_the_servers_json_cap(self) -> None:
        """The test server, like the daemon, caps bodies at 1 MiB; uploads may be bigger."""
        big = tone_wav(10.0, rate=48000, channels=2)  # 1.8 MiB
        assert len(big) > 1 << 20
        status, data, _ = self.post_form({"id": "long"}, big)
        assert (status, data["duration"]) == (201, 10.0)
        status, data, _ = self.put_wav(f"{PROMPTS}/long2?language=zh", big)
        assert (status, data["languages"]) == (201, ["zh"])

    def test_raw_upload_creates_then_replaces(self) -> None:
        status, data, _ = self.put_wav(f"{PROMPTS}/hold-on", tone_wav(0.5, rate=16000))
        assert (status, data["duration"]) == (201, 0.5)
        status, data, _ = self.put_wav(
            f"{PROMPTS}/hold-on", tone_wav(0.75, rate=22050), kind="audio/x-wav"
        )
        assert (status, data["duration"]) == (200, 0.75)
        status, data, _ = self.put_wav(f"{PROMPTS}/hold-on?language=en", tone_wav(0.25))
        assert (status, data["languages"]) == (201, ["zh", "en"])
        assert [(f["language"], f["plays_in"]) for f in data["files"]] == [
            ("en", ["en"]),
            (None, ["zh"]),
        ]

    def test_bad_uploads_are_refused_with_a_reason(self) -> None:
        error = self.assert_error(
            self.put_wav(f"{PROMPTS}/x", b"just text\n" * 10), 400, "invalid_audio"
        )
        assert error["message"].startswith("not a WAV file") and error["field"] == "file"
        mp3 = tone_wav(0.5)
        mp3 = mp3[:20] + b"\x55\x00" + mp3[22:]  # format tag 85
        error = self.assert_error(self.post_form({"id": "x"}, mp3), 400, "invalid_audio")
        assert error["message"].startswith("unsupported WAV encoding: format 85 (MP3 in WAV)")
        error = self.assert_error(
            self.post_form({"id": "x"}, tone_wav(1.0)[:3000]), 400, "invalid_audio"
        )
        assert error["message"].startswith("truncated WAV file")

        cases = [
            ({"id": "Bad Name"}, tone_wav(0.1), "id"),
            ({"id": "x", "language": "fr"}, tone_wav(0.1), "language"),
            ({"language": "en"}, tone_wav(0.1), "id"),
            ({"id": "x"}, None, "file"),
            ({"id": "x", "colour": "red"}, tone_wav(0.1), "colour"),
        ]
        for fields, file, field in cases:
            error = self.assert_error(self.post_form(fields, file), 400, "invalid")
            assert error["field"] == field, (fields, error)
        error = self.assert_error(
            self.put_wav(f"{PROMPTS}/x?lang=en", tone_wav(0.1)), 400, "invalid"
        )
        assert error["field"] == "lang"
        assert not self.uploads.exists() or not any(self.uploads.rglob("*.wav"))

    def test_wrong_content_type_is_415(self) -> None:
        error = self.assert_error(
            self.put_wav(f"{PROMPTS}/x", tone_wav(0.1), kind="application/json"),
            415,
            "unsupported_media_type",
        )
        assert "audio/wav" in error["message"]
        result = self.call("POST", PROMPTS, {"id": "x"}, token=self.token)
        error = self.assert_error(result, 415, "unsupported_media_type")
        assert "multipart/form-data" in error["message"]

    def test_too_large_is_413_before_the_body_is_read(self) -> None:
        huge = b"\x00" * (16 * 1024 * 1024 + 1)
        error = self.assert_error(self.put_wav(f"{PROMPTS}/x", huge), 413, "too_large")
        assert "16777216" in error["message"]
        # Other handlers keep their 64 KiB limit, and so do this handler's other methods.
        self.assert_error(
            self.call("DELETE", f"{PROMPTS}/x", raw=b"x" * 70000, token=self.token),
            413,
            "too_large",
        )
        self.assert_error(
            self.call("POST", "/api/v1/queues", raw=b"x" * 70000, token=self.token),
            413,
            "too_large",
        )

    def test_auth_is_checked_before_the_upload_is_read(self) -> None:
        big = tone_wav(10.0, rate=48000, channels=2)
        self.assert_error(self.put_wav(f"{PROMPTS}/x", big, token="nope"), 401, "unauthorized")
        supervisor = self.token_for(Role.SUPERVISOR)
        self.assert_error(self.put_wav(f"{PROMPTS}/x", big, token=supervisor), 403, "forbidden")
        assert not self.uploads.exists() or not any(self.uploads.rglob("*.wav"))

    # reading

    def test_list_and_get(self) -> None:
        self.put_wav(f"{PROMPTS}/jingle?language=zh", tone_wav(0.5))
        status, data, _ = self.call("GET", PROMPTS, token=self.token)
        assert status == 200
        assert [(p["id"], p["source"], p["languages"]) for p in data["items"]] == [
            ("jingle", "upload", ["zh"]),
            ("welcome", "system", ["zh", "en"]),
        ]
        status, data, _ = self.call("GET", f"{PROMPTS}/welcome", token=self.token)
        assert (status, data["duration"], data["size"]) == (200, 1.0, 2 * (44 + 16000))
        self.assert_error(
            self.call("GET", f"{PROMPTS}/nothing", token=self.token), 404, "not_found"
        )
        self.assert_error(
            self.call("GET", f"{PROMPTS}/..%2Fetc", token=self.token), 404, "not_found"
        )

    def test_play_with_range(self) -> None:
        self.put_wav(f"{PROMPTS}/jingle", tone_wav(0.5, rate=48000))
        stored = (self.uploads / "jingle.wav").read_bytes()
        status, _, response = self.fetch_audio(f"{PROMPTS}/jingle/audio")
        assert status == 200
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.body == stored
        status, _, response = self.fetch_audio(
            f"{PROMPTS}/jingle/audio?language=en", {"Range": "bytes=44-143"}
        )
        assert status == 206
        assert response.headers["Content-Range"] == f"bytes 44-143/{len(stored)}"
        assert response.body == stored[44:144]
        status, _, response = self.fetch_audio(f"{PROMPTS}/welcome/audio?language=en")
        assert response.body == (self.system_dir / "en" / "welcome.wav").read_bytes()
        self.put_wav(f"{PROMPTS}/only-zh?language=zh", tone_wav(0.1))
        self.assert_error(
            self.call("GET", f"{PROMPTS}/only-zh/audio?language=en", token=self.token),
            404,
            "not_found",
        )

    def fetch_audio(self, path: str, headers: dict[str, str] | None = None):
        response = self.fetch(
            path,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            raise_error=False,
        )
        return response.code, None, response

    # deleting

    def test_delete_an_upload(self) -> None:
        self.put_wav(f"{PROMPTS}/jingle", tone_wav(0.5))
        status, _, _ = self.call("DELETE", f"{PROMPTS}/jingle", token=self.token)
        assert status == 204
        self.assert_error(self.call("GET", f"{PROMPTS}/jingle", token=self.token), 404, "not_found")

    def test_delete_an_override_brings_the_system_prompt_back(self) -> None:
        self.put_wav(f"{PROMPTS}/welcome?language=zh", tone_wav(3.0))
        status, _, _ = self.call("DELETE", f"{PROMPTS}/welcome?language=zh", token=self.token)
        assert status == 204
        status, data, _ = self.call("GET", f"{PROMPTS}/welcome", token=self.token)
        assert (data["source"], data["duration"], data["overrides_system"]) == (
            "system",
            1.0,
            False,
        )

    def test_system_prompts_are_read_only(self) -> None:
        error = self.assert_error(
            self.call("DELETE", f"{PROMPTS}/welcome", token=self.token), 409, "read_only"
        )
        assert "system prompts are read-only" in error["message"]

    def test_a_prompt_in_use_cannot_be_deleted(self) -> None:
        self.put_wav(f"{PROMPTS}/jingle", tone_wav(0.5))
        status, _, _ = self.call(
            "POST", "/api/v1/queues", {"number": "600", "music": "jingle"}, token=self.token
        )
        assert status == 201
        error = self.assert_error(
            self.call("DELETE", f"{PROMPTS}/jingle", token=self.token), 409, "in_use"
        )
        assert "queue 600 music" in error["message"]

    def test_queues_and_ivrs_refuse_prompts_that_do_not_exist(self) -> None:
        error = self.assert_error(
            self.call(
                "POST",
                "/api/v1/queues",
                {"number": "600", "welcome_prompt": "foo"},
                token=self.token,
            ),
            400,
            "invalid",
        )
        assert error["message"] == "welcome_prompt: no prompt 'foo' (upload it first)"
        error = self.assert_error(
            self.call("POST", "/api/v1/ivrs", {"name": "main", "prompt": "menu"}, token=self.token),
            400,
            "invalid",
        )
        assert (error["field"], error["message"]) == (
            "prompt",
            "prompt: no prompt 'menu' (upload it first)",
        )
        self.post_form({"id": "menu"}, tone_wav(0.5))
        status, _, _ = self.call(
            "POST", "/api/v1/ivrs", {"name": "main", "prompt": "menu"}, token=self.token
        )
        assert status == 201

    # roles

    def test_role_matrix(self) -> None:
        self.put_wav(f"{PROMPTS}/jingle", tone_wav(0.5))
        supervisor = self.token_for(Role.SUPERVISOR)
        agent = self.token_for(Role.AGENT)
        body, content_type = form({"id": "other"}, tone_wav(0.1))
        wav = {"Content-Type": "audio/wav"}
        requests = [
            ("GET", PROMPTS, None, {}, True),
            ("GET", f"{PROMPTS}/jingle", None, {}, True),
            ("GET", f"{PROMPTS}/jingle/audio", None, {}, True),
            ("POST", PROMPTS, body, {"Content-Type": content_type}, False),
            ("PUT", f"{PROMPTS}/jingle", tone_wav(0.1), wav, False),
            ("DELETE", f"{PROMPTS}/jingle", None, {}, False),
        ]
        for method, path, raw, headers, supervisor_may in requests:
            result = self.call(method, path, raw=raw, token=agent, headers=headers)
            self.assert_error(result, 403, "forbidden")
            result = self.call(method, path, raw=raw, headers=headers)
            self.assert_error(result, 401, "unauthorized")
            if supervisor_may:  # reads only (the audio is no JSON)
                response = self.fetch(
                    path, headers={"Authorization": f"Bearer {supervisor}"}, raise_error=False
                )
                assert response.code == 200, (method, path, response.body[:200])
            else:
                result = self.call(method, path, raw=raw, token=supervisor, headers=headers)
                self.assert_error(result, 403, "forbidden")
        # Nothing the refused calls sent changed anything.
        assert sorted(p.name for p in self.uploads.rglob("*.wav")) == ["jingle.wav"]
