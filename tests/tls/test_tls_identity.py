"""tls.checkServerIdentity: the cases of Node's test-tls-check-server-identity.js.

Each row is (host, certificate object, Node's reason or None when the host
matches). A separate test hands the same rows to Node 20's own
``tls.checkServerIdentity`` and requires the same answers.
"""

from __future__ import annotations

from typing import Any

import pytest

from gnet import errors, tls

# (host, cert, expected reason). None as host stands for JavaScript's
# undefined (an omitted argument).
CASES: list[tuple[Any, dict[str, Any], str | None]] = [
    # Hosts that are not strings are stringified.
    (False, {'subject': {'CN': 'a.com'}}, "Host: false. is not cert's CN: a.com"),
    (None, {'subject': {'CN': 'a.com'}}, "Host: undefined. is not cert's CN: a.com"),
    # The common name, compared without case and without a trailing dot.
    ('a.com', {'subject': {'CN': 'a.com'}}, None),
    ('a.com', {'subject': {'CN': 'A.COM'}}, None),
    ('a.com', {'subject': {'CN': 'b.com'}}, "Host: a.com. is not cert's CN: b.com"),
    ('a.com', {'subject': {'CN': 'a.com.'}}, None),
    ('a.com', {'subject': {'CN': '.a.com'}}, "Host: a.com. is not cert's CN: .a.com"),
    # An IP host never matches a CN, a DNS: name spelling it, or a URI.
    ('8.8.8.8', {'subject': {'CN': '8.8.8.8'}}, "IP: 8.8.8.8 is not in the cert's list: "),
    ('8.8.8.8', {'subject': {'CN': '8.8.8.8'}, 'subjectaltname': 'DNS:8.8.8.8'},
     "IP: 8.8.8.8 is not in the cert's list: "),
    ('8.8.8.8', {'subject': {'CN': '8.8.8.8'}, 'subjectaltname': 'URI:http://8.8.8.8/'},
     "IP: 8.8.8.8 is not in the cert's list: "),
    # An IP Address: name does, but not as a CIDR range.
    ('8.8.8.8', {'subject': {'CN': '8.8.8.8'}, 'subjectaltname': 'IP Address:8.8.8.8'}, None),
    ('8.8.8.8', {'subject': {'CN': '8.8.8.8'}, 'subjectaltname': 'IP Address:8.8.8.0/24'},
     "IP: 8.8.8.8 is not in the cert's list: "),
    # Wildcards in the CN.
    ('b.a.com', {'subject': {'CN': '*.a.com'}}, None),
    ('ba.com', {'subject': {'CN': '*.a.com'}}, "Host: ba.com. is not cert's CN: *.a.com"),
    ('\n.b.com', {'subject': {'CN': '*n.b.com'}}, "Host: \n.b.com. is not cert's CN: *n.b.com"),
    ('b.a.com', {'subjectaltname': 'DNS:omg.com', 'subject': {'CN': '*.a.com'}},
     "Host: b.a.com. is not in the cert's altnames: DNS:omg.com"),
    ('b.a.com', {'subject': {'CN': 'b*b.a.com'}}, "Host: b.a.com. is not cert's CN: b*b.a.com"),
    # No names at all, or only a URI.
    ('a.com', {}, 'Cert does not contain a DNS name'),
    ('a.com', {'subjectaltname': 'DNS:a.com'}, None),
    ('a.b.a.com', {'subjectaltname': 'URI:http://a.b.a.com/'}, 'Cert does not contain a DNS name'),
    # Several CNs.
    ('foo.com', {'subject': {'CN': ['foo.com', 'bar.com']}}, None),
    # DNS names win over the CN.
    ('a.com', {'subjectaltname': 'DNS:*', 'subject': {'CN': 'b.com'}},
     "Host: a.com. is not in the cert's altnames: DNS:*"),
    ('a.com', {'subjectaltname': 'DNS:*.com', 'subject': {'CN': 'b.com'}},
     "Host: a.com. is not in the cert's altnames: DNS:*.com"),
    ('a.co.uk', {'subjectaltname': 'DNS:*.co.uk', 'subject': {'CN': 'b.com'}}, None),
    ('a.com', {'subjectaltname': 'DNS:*.a.com', 'subject': {'CN': 'a.com'}},
     "Host: a.com. is not in the cert's altnames: DNS:*.a.com"),
    ('a.com', {'subjectaltname': 'DNS:*.a.com', 'subject': {'CN': 'b.com'}},
     "Host: a.com. is not in the cert's altnames: DNS:*.a.com"),
    ('a.com', {'subjectaltname': 'DNS:a.com', 'subject': {'CN': 'b.com'}}, None),
    ('a.com', {'subjectaltname': 'DNS:A.COM', 'subject': {'CN': 'b.com'}}, None),
    # DNS names alone.
    ('a.com', {'subjectaltname': 'DNS:*.a.com', 'subject': {}},
     "Host: a.com. is not in the cert's altnames: DNS:*.a.com"),
    ('b.a.com', {'subjectaltname': 'DNS:*.a.com', 'subject': {}}, None),
    ('c.b.a.com', {'subjectaltname': 'DNS:*.a.com', 'subject': {}},
     "Host: c.b.a.com. is not in the cert's altnames: DNS:*.a.com"),
    ('b.a.com', {'subjectaltname': 'DNS:*b.a.com', 'subject': {}}, None),
    ('a-cb.a.com', {'subjectaltname': 'DNS:*b.a.com', 'subject': {}}, None),
    ('a.b.a.com', {'subjectaltname': 'DNS:*b.a.com', 'subject': {}},
     "Host: a.b.a.com. is not in the cert's altnames: DNS:*b.a.com"),
    ('a.b.a.com', {'subjectaltname': 'DNS:*b.a.com, DNS:a.b.a.com', 'subject': {}}, None),
    # URI names never count.
    ('a.b.a.com', {'subjectaltname': 'URI:http://a.b.a.com/', 'subject': {}},
     'Cert does not contain a DNS name'),
    ('a.b.a.com', {'subjectaltname': 'URI:http://*.b.a.com/', 'subject': {}},
     'Cert does not contain a DNS name'),
    # IP addresses.
    ('a.b.a.com', {'subjectaltname': 'IP Address:127.0.0.1', 'subject': {}},
     'Cert does not contain a DNS name'),
    ('127.0.0.1', {'subjectaltname': 'IP Address:127.0.0.1', 'subject': {}}, None),
    ('127.0.0.2', {'subjectaltname': 'IP Address:127.0.0.1', 'subject': {}},
     "IP: 127.0.0.2 is not in the cert's list: 127.0.0.1"),
    ('127.0.0.1', {'subjectaltname': 'DNS:a.com', 'subject': {}},
     "IP: 127.0.0.1 is not in the cert's list: "),
    ('localhost', {'subjectaltname': 'DNS:a.com', 'subject': {'CN': 'localhost'}},
     "Host: localhost. is not in the cert's altnames: DNS:a.com"),
    # IDNA: a wildcard matches an A-label, a wildcard inside one does not.
    ('xn--bcher-kva.example.com', {'subject': {'CN': '*.example.com'}}, None),
    ('xn--bcher-kva.example.com', {'subject': {'CN': 'xn--*.example.com'}},
     "Host: xn--bcher-kva.example.com. is not cert's CN: xn--*.example.com"),
    # Beyond Node's file: IPv6 forms, IP lists, quoted names (Node 20's
    # escaping of names with commas), a trailing dot on the host, U-labels.
    ('::1', {'subjectaltname': 'IP Address:0:0:0:0:0:0:0:1'}, None),
    ('0:0::1', {'subjectaltname': 'IP Address:0:0:0:0:0:0:0:1'}, None),
    ('1.2.3.4', {'subjectaltname': 'IP Address:1.2.3.0/24, IP Address:1.2.3.5'},
     "IP: 1.2.3.4 is not in the cert's list: , 1.2.3.5"),
    ('a.com', {'subjectaltname': 'DNS:"x\\u002cy.com", DNS:a.com'}, None),
    ('x,y.com', {'subjectaltname': 'DNS:"x\\u002cy.com"'}, None),
    ('a.com.', {'subjectaltname': 'DNS:a.com'}, None),
    ('b.com.', {'subjectaltname': 'DNS:a.com'},
     "Host: b.com. is not in the cert's altnames: DNS:a.com"),
    ('bücher.example.com', {'subject': {'CN': 'bücher.example.com'}},
     "Host: bücher.example.com. is not cert's CN: bücher.example.com"),
    ('a.com', {'subject': {'CN': []}}, "Host: a.com. is not cert's CN: "),
    ('a.com', {'subject': {'CN': ''}}, 'Cert does not contain a DNS name'),
    ('a..com', {'subject': {'CN': 'a..com'}}, "Host: a..com. is not cert's CN: a..com"),
    ('A.B.COM', {'subjectaltname': 'DNS:*.b.com'}, None),
]


@pytest.mark.parametrize(('host', 'cert', 'reason'), CASES)
def test_check_server_identity(host: Any, cert: dict[str, Any], reason: str | None) -> None:
    err = tls.checkServerIdentity(host, cert)
    if reason is None:
        assert err is None
    else:
        assert err is not None
        assert err.reason == reason


def test_error_fields_and_message() -> None:
    cert = {'subject': {'CN': 'x'}, 'subjectaltname': 'DNS:a.com'}
    err = tls.checkServerIdentity('localhost.', cert)
    assert isinstance(err, errors.TLSCertAltnameInvalidError)
    assert err.code == 'ERR_TLS_CERT_ALTNAME_INVALID'
    assert str(err) == err.message == (
        "Hostname/IP does not match certificate's altnames: "
        "Host: localhost. is not in the cert's altnames: DNS:a.com")
    assert err.host == 'localhost'
    assert err.cert is cert


def test_bad_input() -> None:
    with pytest.raises(errors.InvalidArgTypeError, match=r'"cert" argument'):
        tls.checkServerIdentity('a.com', None)  # type: ignore[arg-type]
    with pytest.raises(errors.TLSCertAltnameFormatError) as info:
        tls.checkServerIdentity('a.com', {'subjectaltname': 'DNS:"unterminated'})
    assert info.value.code == 'ERR_TLS_CERT_ALTNAME_FORMAT'
    with pytest.raises(errors.InvalidArgTypeError, match=r'cert.subject.CN'):
        tls.checkServerIdentity('a.com', {'subject': {'CN': 5}})


def test_snake_case_twin() -> None:
    assert tls.check_server_identity is tls.checkServerIdentity


_NODE_TABLE = r"""
const tls = require('tls');
const rows = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = rows.map(([host, cert]) => {
  // JSON has no undefined: the marker stands for it.
  if (host === '<undefined>') host = undefined;
  const err = tls.checkServerIdentity(host, cert);
  return err ? err.reason : null;
});
console.log(JSON.stringify(out));
"""


@pytest.mark.once
@pytest.mark.node
def test_same_answers_as_node(node_json: Any) -> None:
    rows = [['<undefined>' if host is None else host, cert] for host, cert, _ in CASES]
    expected = node_json(_NODE_TABLE, rows)
    got = []
    for host, cert, _ in CASES:
        err = tls.checkServerIdentity(host, cert)
        got.append(None if err is None else err.reason)
    mismatched = [(CASES[i][0], CASES[i][1], got[i], expected[i])
                  for i in range(len(CASES)) if got[i] != expected[i]]
    assert not mismatched
    assert len(CASES) >= 45
