"""`pbxd` command line (a stable contract, see DESIGN.md)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import sys
from pathlib import Path

from pbxd.daemon import Settings, serve
from pbxd.media.ports import parse_port_range
from pbxd.web.static import default_ui_dir
from pbxd.web.tls import CertificateError


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {text}")
    return value


def _port_or_off(text: str) -> int:
    value = int(text)
    if not 0 <= value < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {text}")
    return value


def _port_range(text: str) -> tuple[int, int]:
    try:
        return parse_port_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _algorithms(text: str) -> tuple[str, ...]:
    names = tuple(name.strip().upper() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in ("SHA-256", "MD5")]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose from SHA-256 and MD5, not {text!r}")
    return names


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in text.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pbxd", description="CooCenter S10 call-center daemon: SIP, media, web API."
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="writable directory for the database, keys and recordings",
    )
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default all)")
    parser.add_argument("--sip-port", type=_port, default=5060, help="SIP UDP+TCP port")
    parser.add_argument("--http-port", type=_port, default=8080, help="web UI and API port")
    parser.add_argument(
        "--https-port",
        type=_port_or_off,
        default=0,
        metavar="N",
        help="also serve the web UI, the API and wss:// at /ws over HTTPS on this port, with "
        "the device certificate DATA_DIR/tls/device.crt + device.key (made self-signed at "
        "first start when absent); 0: off (default; the appliance's unit sets 8443)",
    )
    parser.add_argument(
        "--rtp-ports",
        type=_port_range,
        default=(10000, 20000),
        metavar="LOW-HIGH",
        help="RTP port range (default 10000-20000)",
    )
    parser.add_argument("--realm", default="pbxd", help="SIP digest realm")
    parser.add_argument(
        "--digest-algorithms",
        type=_algorithms,
        default=("SHA-256", "MD5"),
        metavar="LIST",
        help="digest challenges offered, in order (default SHA-256,MD5; old phones that only "
        "read the first challenge need MD5 first)",
    )
    parser.add_argument(
        "--ring-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long an extension rings before the caller gets 480",
    )
    parser.add_argument(
        "--media-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="hang up a call after this long without RTP (0: never)",
    )
    parser.add_argument(
        "--external-address",
        type=_address,
        default=None,
        metavar="ADDR",
        help="behind NAT: the public address written into SIP (Via, Contact) and SDP for "
        "peers outside --local-networks; RTP ports must be forwarded 1:1",
    )
    parser.add_argument(
        "--local-networks",
        type=_networks,
        default=(),
        metavar="CIDR[,CIDR...]",
        help="peers in these networks get the local address, not --external-address",
    )
    parser.add_argument(
        "--prompts-dir",
        type=Path,
        default=Path("/usr/share/coocenter/prompts"),
        metavar="DIR",
        help="the system prompts (zh/, en/, common/), rendered at build time; uploads go to "
        "DATA_DIR/prompts and take precedence",
    )
    parser.add_argument(
        "--ui-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the built web console (python -m tools.ui.build); default: build/ui of this "
        "source checkout when built, else /usr/share/coocenter/ui",
    )
    parser.add_argument("--log-level", default=os.environ.get("PBXD_LOG_LEVEL", "INFO"))
    parser.add_argument(
        "--reload", action="store_true", help="restart when the source changes (development)"
    )
    return parser


def _fastest_loop():
    """uvloop when installed (Debian and PyPI ship it for arm64): SIP and RTP I/O get cheaper."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve_with_reload(settings: Settings) -> None:
    import tornado.autoreload

    tornado.autoreload.start()  # must run inside the loop it watches from
    await serve(settings)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.https_port and args.https_port == args.http_port:
        parser.error("--https-port must differ from --http-port")
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    args.data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        data_dir=args.data_dir.resolve(),
        bind=args.bind,
        sip_port=args.sip_port,
        http_port=args.http_port,
        rtp_ports=args.rtp_ports,
        realm=args.realm,
        digest_algorithms=args.digest_algorithms,
        ring_timeout=args.ring_timeout,
        media_timeout=args.media_timeout,
        admin_password=os.environ.get("PBXD_ADMIN_PASSWORD") or None,
        external_address=args.external_address,
        local_networks=args.local_networks,
        prompts_dir=args.prompts_dir.resolve(),
        ui_dir=(args.ui_dir or default_ui_dir()).resolve(),
        https_port=args.https_port,
    )
    try:
        with asyncio.Runner(loop_factory=_fastest_loop()) as runner:
            runner.run(_serve_with_reload(settings) if args.reload else serve(settings))
    except (OSError, CertificateError) as exc:
        print(f"pbxd: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
