#!/usr/bin/env python3
"""Write the seed corpora of the engine's fuzz targets (run once; the
output is committed).  Seeds are real dialogues: legitimate sessions and
every attack the unit tests know, in the input formats the targets
document at their top."""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

GREET = ('S', b'220 mx.example.org ESMTP\r\n')
EHLO = [('C', b'EHLO c.example\r\n'),
        ('S', b'250-mx.example.org\r\n250-PIPELINING\r\n250-CHUNKING\r\n'
              b'250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-SMTPUTF8\r\n'
              b'250 8BITMIME\r\n')]
TXN = [('C', b'MAIL FROM:<a@c.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\n'),
       ('S', b'250 Ok\r\n250 Ok\r\n354 go\r\n')]

SMTP = {
    'legit_pipelined': [GREET] + EHLO + TXN + [
        ('C', b'Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n'),
        ('S', b'250 queued\r\n221 bye\r\n')],
    'legit_bdat': [GREET] + EHLO + [
        ('C', b'MAIL FROM:<a@c.example>\r\nRCPT TO:<x@example.org>\r\n'),
        ('S', b'250 Ok\r\n250 Ok\r\n'),
        ('C', b'BDAT 12\r\nab\r\n.\r\nQUIT\r\nBDAT 0 LAST\r\n'),
        ('S', b'250 ok\r\n250 ok\r\n')],
    'auth_login_fail': [GREET] + EHLO + [
        ('C', b'AUTH LOGIN\r\n'), ('S', b'334 VXNlcm5hbWU6\r\n'),
        ('C', b'YWRtaW4=\r\n'), ('S', b'334 UGFzc3dvcmQ6\r\n'),
        ('C', b'MTIzNDU2\r\n'), ('S', b'535 5.7.8 failed\r\n')],
    'relay': [GREET] + EHLO + [
        ('C', b'MAIL FROM:<a@c.example>\r\n'), ('S', b'250 Ok\r\n'),
        ('C', b'RCPT TO:<@example.org:v@else.example>\r\n'), ('S', b'250 Ok\r\n')],
    'smuggle_lf': [GREET] + EHLO + TXN + [
        ('C', b'x\n.\nMAIL FROM:<ceo@example.org>\r\n')],
    'smuggle_cr': [GREET] + EHLO + TXN + [
        ('C', b'x\r.\rMAIL FROM:<ceo@example.org>\r\n')],
    'starttls': [GREET] + EHLO + [
        ('C', b'STARTTLS\r\n'), ('S', b'220 go\r\n'),
        ('C', b'\x16\x03\x01\x00\x05hello')],
    'starttls_inject': [GREET] + EHLO + [('C', b'STARTTLS\r\nRSET\r\n')],
    'http': [GREET, ('C', b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    'tls_hello': [GREET, ('C', b'\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03')],
    'pregreet': [('C', b'EHLO fast\r\n'), GREET],
    'vrfy': [GREET, ('C', b'VRFY root\r\n'), ('S', b'250 root\r\n'),
             ('C', b'EXPN all\r\n'), ('S', b'252 no\r\n'), ('C', b'HELP\r\n'),
             ('S', b'214-Sendmail 8.15.2\r\n214 end\r\n')],
    'long_line': [GREET, ('C', b'NOOP ' + b'x' * 700 + b'\r\n')],
    'early_data': [GREET] + EHLO + [
        ('C', b'MAIL FROM:<a@c.example>\r\nRCPT TO:<x@example.org>\r\nDATA\r\nRSET\r\n'),
        ('S', b'250 Ok\r\n550 5.1.1 no\r\n554 no rcpt\r\n')],
    'bare_lf': [GREET, ('C', b'EHLO x\n'), ('S', b'250 x\r\n'),
                ('C', b'MAIL FROM:<>\nRCPT TO:<postmaster>\r\n')],
}
POP3 = {
    'pop3_login': [('S', b'+OK ready\r\n'), ('C', b'USER a\r\n'), ('S', b'+OK\r\n'),
                   ('C', b'PASS b\r\n'), ('S', b'-ERR no\r\n'),
                   ('C', b'AUTH PLAIN\r\n'), ('S', b'+ \r\n'),
                   ('C', b'AGEAYg==\r\n'), ('S', b'-ERR no\r\n'),
                   ('C', b'RETR 1\r\n'), ('S', b'+OK\r\n-ERR x\r\n.\r\n'),
                   ('C', b'STLS\r\n'), ('S', b'+OK\r\n')],
}
IMAP = {
    'imap_login': [('S', b'* OK ready\r\n'), ('C', b'a1 LOGIN a b\r\n'),
                   ('S', b'a1 NO [AUTHENTICATIONFAILED] x\r\n'),
                   ('C', b'a2 LOGIN {1}\r\n'), ('S', b'+ go\r\n'),
                   ('C', b'a {1}\r\n'), ('S', b'+ go\r\n'), ('C', b'b\r\n'),
                   ('S', b'a2 OK\r\n'), ('C', b'a3 FETCH 1 BODY[]\r\n'),
                   ('S', b'* 1 FETCH (BODY[] {12}\r\na2 NO fake\r\n)\r\na3 OK\r\n'),
                   ('C', b'a4 STARTTLS\r\n'), ('S', b'a4 OK\r\n')],
}


def smtp_records(steps):
    out = bytearray()
    for d, data in steps:
        for i in range(0, len(data), 127):
            part = data[i:i + 127]
            out.append((0x80 if d == 'S' else 0) | len(part))
            out += part
    return bytes(out)


def write(dirname, name, blob):
    path = os.path.join(HERE, dirname)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), 'wb') as f:
        f.write(blob)


def packets(steps, flow=0, rnd=None):
    """fuzz_insp records for one session: handshake, segments, FINs."""
    out = bytearray()
    cseq, sseq = 1000, 90000

    def rec(client, flags, seq, data=b''):
        fl = (flow & 7) | (0 if client else 8) | 0x10
        return bytes([fl, flags]) + struct.pack('<I', seq & 0xffffffff) + \
            bytes([len(data)]) + data

    out += rec(True, 0x02, cseq - 1)
    out += rec(False, 0x12, sseq - 1)
    for d, data in steps:
        client = d == 'C'
        seq = cseq if client else sseq
        segs = []
        for i in range(0, len(data), 40):
            segs.append((seq + i, data[i:i + 40]))
        if rnd:
            rnd.shuffle(segs)
            if segs:
                segs.append(segs[0])
        for s, part in segs:
            out += rec(client, 0x18, s, part)
        if client:
            cseq += len(data)
        else:
            sseq += len(data)
    out += rec(True, 0x11, cseq)
    out += rec(False, 0x11, sseq)
    return bytes(out)


def main():
    rnd = random.Random(3)
    for name, steps in SMTP.items():
        write('corpus_smtp', name, bytes([0]) + smtp_records(steps))
        write('corpus_smtp', name + '_score', bytes([8 | 16]) + smtp_records(steps))
        write('corpus_insp', name, packets(steps))
        write('corpus_insp', name + '_shuffled', packets(steps, 1, rnd))
    for name, steps in POP3.items():
        write('corpus_smtp', name, bytes([1 | 8]) + smtp_records(steps))
        write('corpus_insp', name, packets(steps, 2))
    for name, steps in IMAP.items():
        write('corpus_smtp', name, bytes([2 | 8]) + smtp_records(steps))
        write('corpus_insp', name, packets(steps, 3))
    write('corpus_smtp', 'midstream', bytes([4 | 8]) + smtp_records(
        [('C', b'text\r\n.\r\n'), ('S', b'250 ok\r\n'), ('C', b'FROB\r\n')]))
    # reassembly: ISN near the wrap, in order / shuffled / overlapping
    for i, isn in enumerate([0, 1000, 0xfffffff0, 0x7ffffff0]):
        recs = [(0x02, 0, 0)]
        offs = [(1 + j * 100, 100) for j in range(20)]
        if i % 2:
            rnd.shuffle(offs)
        offs += [(50, 300), (1950, 100)]
        for o, l in offs:
            recs.append((0x10, o, l))
        recs.append((0x11, 2001, 0))
        blob = struct.pack('<I', isn) + b''.join(
            struct.pack('<BHH', f, o, l) for f, o, l in recs)
        write('corpus_tcpr', 'stream%d' % i, blob)
    write('corpus_tcpr', 'midstream_rst', struct.pack('<I', 5) + b''.join(
        struct.pack('<BHH', f, o, l) for f, o, l in
        [(0x10, 10, 5), (0x04, 99, 0), (0x10, 15, 5), (0x04, 20, 0), (0x10, 20, 5)]))


if __name__ == '__main__':
    main()
