"""`make image-report`'s size part on a small fake rootfs."""

from tools.build import report


def test_sizes_per_package_count_what_is_left(tmp_path):
    output = tmp_path / "out"
    root = output / "build/rootfs"
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/big").write_bytes(b"x" * 300_000)
    (root / "usr/bin/small").write_bytes(b"x" * 1000)
    (info / "big:arm64.list").write_text(
        "/.\n/usr\n/usr/bin\n/usr/bin/big\n/usr/share/doc/big/gone\n"
    )
    (info / "small.list").write_text("/usr/bin/small\n")
    (root / "var/lib/dpkg/status").write_text(
        "Package: big\nStatus: install ok installed\nArchitecture: arm64\nVersion: 1\n"
        "Installed-Size: 900\nDescription: b\n\n"
        "Package: small\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n"
        "Installed-Size: 2\nDescription: s\n\n"
    )
    (output / "images").mkdir(parents=True)
    (output / "images/rootfs.squashfs").write_bytes(b"h" * 2**20)
    rows = report.package_sizes(root)
    assert [r.name for r in rows] == ["big", "small"]
    assert rows[0].in_image_bytes == 300_000
    assert rows[0].installed_kib == 900
    text = report.size_report(output)
    assert "rootfs.squashfs" in text and "1.0 MiB" in text
    assert "disk.img" in text and "(not built)" in text
    assert text.index("big") < text.index("small")


def test_boot_hook_absent_is_said(tmp_path):
    assert "not present" in report.boot_report(tmp_path, "coocenter_s10", tmp_path / "out")
