"""Which connections are a service's Postgres connections, from `ss -tinpH` output:
the service's processes hold one end, a `postgres` process the other."""

from __future__ import annotations

from perflab.experiment.sockets import Connection, parse, received_from_postgres

SS = """\
0      0      127.0.0.1:55432 127.0.0.1:46902 users:(("postgres",pid=900,fd=7))
\t bbr wscale:10,10 rto:224 bytes_sent:678153 bytes_acked:678153 bytes_received:195563 segs_out:2742
0      0      127.0.0.1:46902 127.0.0.1:55432 users:(("python",pid=101,fd=38))
\t bbr wscale:10,10 rto:204 bytes_sent:195563 bytes_acked:195564 bytes_received:678153 segs_out:2027
0      0      127.0.0.1:41122 127.0.0.1:56379 users:(("python",pid=101,fd=12))
\t bbr wscale:10,10 rto:204 bytes_sent:3562 bytes_received:33972
0      0      127.0.0.1:8000 127.0.0.1:51000 users:(("python",pid=101,fd=4),("python",pid=100,fd=9))
\t bbr wscale:10,10 rto:204 bytes_sent:9000 bytes_received:120
0      0      127.0.0.1:47000 127.0.0.1:55432 users:(("gunicorn",pid=202,fd=5))
\t bbr wscale:10,10 rto:204 bytes_sent:100 bytes_received:4000
0      0      127.0.0.1:55432 127.0.0.1:47000 users:(("postgres",pid=901,fd=7))
\t bbr wscale:10,10 rto:204 bytes_sent:4000 bytes_received:100
"""


def test_every_socket_is_read_with_its_owners_and_received_bytes():
    connections = parse(SS)
    assert len(connections) == 6
    assert connections[1] == Connection(
        "127.0.0.1:46902", "127.0.0.1:55432", frozenset({("python", 101)}), 678_153
    )
    assert connections[3].owners == {("python", 101), ("python", 100)}  # a shared socket


def test_only_the_services_connections_to_postgres_count():
    connections = parse(SS)
    # pid 101's Postgres connection; not its Redis one, not its HTTP client's, and not
    # another service's (pid 202) Postgres connection.
    assert received_from_postgres(connections, [100, 101]) == {"127.0.0.1:46902": 678_153}
    assert received_from_postgres(connections, [202]) == {"127.0.0.1:47000": 4_000}
    assert received_from_postgres(connections, [999]) == {}
