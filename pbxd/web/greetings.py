"""/api/v1/voicemail/{box}/greeting: the box's own greeting (play, upload, back to default).

Who may: as the box's messages (pbxd/web/voicemail.py); changing it is for admins and the box's
owner (the user whose extension the box is). The upload is any WAV the converter reads, as the
body (audio/wav), at most a minute long once converted.
"""

from __future__ import annotations

import asyncio

from .audio import send_audio
from .base import ANY_ROLE
from .prompts import WAV_TYPES
from .uploads import UnsupportedMediaType, UploadHandler
from .voicemail import check_box_access

MAX_GREETING_BYTES = 8 * 1024 * 1024


class GreetingHandler(UploadHandler):
    access = {"GET": ANY_ROLE, "PUT": ANY_ROLE, "DELETE": ANY_ROLE}
    upload_methods = frozenset({"PUT"})
    upload_limit = MAX_GREETING_BYTES

    def check_content_type(self, content_type: str) -> None:
        # Runs in prepare(), before the body: who may comes before what was sent.
        check_box_access(self, self.path_kwargs["box"], owner_only=True)
        if content_type.split(";")[0].strip().lower() not in WAV_TYPES:
            raise UnsupportedMediaType(
                f"send the WAV file as the body with Content-Type {WAV_TYPES[0]}"
            )

    async def get(self, box: str) -> None:
        check_box_access(self, box)
        await send_audio(self, self.services.voicemail.greeting(box))

    async def put(self, box: str) -> None:
        check_box_access(self, box, owner_only=True)
        data = self.body()
        # Converting a minute of 48 kHz stereo takes a while: not on the loop that carries calls.
        seconds = await asyncio.get_running_loop().run_in_executor(
            None, self.services.voicemail.set_greeting, box, data
        )
        self.reply({"box": box, "duration": seconds, "audio": self.request.path})

    def delete(self, box: str) -> None:
        check_box_access(self, box, owner_only=True)
        self.services.voicemail.delete_greeting(box)
        self.reply_no_content()
