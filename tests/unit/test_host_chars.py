"""The characters a host name may hold unescaped (engine/endpoint._HOST_CHARS),
as Go's net/url shouldEscape lets them through url.Parse: written in kargo as
the ASCII it refuses, checked here against the rule's own list."""
import string

from kargo_tasks.engine.endpoint import _HOST_CHARS

ALLOWED_ASCII = set(string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:[]<>\"")


def test_every_ascii_character_and_the_ends_of_unicode():
    points = list(range(0x100)) + [0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000,
                                   0x10ffff]
    for point in points:
        char = chr(point)
        allowed = char in ALLOWED_ASCII or point >= 0x80
        assert bool(_HOST_CHARS.fullmatch(char)) == allowed, hex(point)


def test_a_host_is_held_whole_or_refused():
    assert _HOST_CHARS.fullmatch("[::1]:2375")
    assert _HOST_CHARS.fullmatch("héte.example:2376")
    assert not _HOST_CHARS.fullmatch("host name:2375")
    assert not _HOST_CHARS.fullmatch("host%41")
