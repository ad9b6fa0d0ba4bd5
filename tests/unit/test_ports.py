"""Free ports: never the same one twice in a process, even when the OS would reuse it."""

from hotline_cli.demo.ports import free_tcp_port, free_udp_port


def test_ports_are_never_handed_out_twice() -> None:
    tcp = [free_tcp_port() for _ in range(200)]
    udp = [free_udp_port() for _ in range(200)]
    assert len(set(tcp)) == 200 and len(set(udp)) == 200


def test_a_number_given_for_tcp_is_not_given_for_udp() -> None:
    """The settings refuse a port number used twice whatever its protocol (SIP is UDP, the
    gateway TCP): the OS may well offer the same number for both kinds."""
    tcp = {free_tcp_port() for _ in range(2000)}
    udp = {free_udp_port() for _ in range(2000)}
    assert not tcp & udp
