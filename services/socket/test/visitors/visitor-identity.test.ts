import { describe, expect, it } from 'vitest';
import { clientIp, MAX_VIEWER_ID_LENGTH, viewerParamOf, visitorIdentity } from '../../src/visitors/visitor-identity.js';

const PEER = '10.0.0.5';

describe('clientIp', () => {
  it('is the peer address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIp(PEER, '203.0.113.9', 0)).toBe(PEER);
  });

  it('takes the entry the configured hop wrote, counted from the right', () => {
    expect(clientIp(PEER, '198.51.100.1, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(clientIp(PEER, '198.51.100.1, 203.0.113.9, 10.0.0.2', 2)).toBe('203.0.113.9');
    expect(clientIp(PEER, ' 2001:db8::1 ', 1)).toBe('2001:db8::1');
  });

  it('never trusts what the client wrote beyond the configured hop', () => {
    // A client sends "X-Forwarded-For: 1.2.3.4"; our one proxy appends the address it saw.
    expect(clientIp(PEER, '1.2.3.4, 203.0.113.9', 1)).toBe('203.0.113.9');
  });

  it('falls back to the peer address for a header too short, empty or not an IP at that hop', () => {
    expect(clientIp(PEER, '', 1)).toBe(PEER);
    expect(clientIp(PEER, '203.0.113.9', 2)).toBe(PEER);
    expect(clientIp(PEER, 'unknown', 1)).toBe(PEER);
    expect(clientIp(PEER, '203.0.113.9, ', 1)).toBe(PEER);
    expect(clientIp(PEER, '203.0.113.9:443', 1)).toBe(PEER);
  });
});

describe('visitorIdentity', () => {
  const upgrade = { viewerParam: null, peer: PEER, forwardedFor: '203.0.113.9', userAgent: 'Browser A' };

  it('is IP and User-Agent without ?viewer=, the id with it', () => {
    expect(visitorIdentity(upgrade, 0)).toBe(`a:${PEER}\nBrowser A`);
    expect(visitorIdentity(upgrade, 1)).toBe('a:203.0.113.9\nBrowser A');
    expect(visitorIdentity({ ...upgrade, viewerParam: 'u-1' }, 1)).toBe('v:u-1');
  });

  it('refuses a ?viewer= id that is empty, too long or not printable ASCII', () => {
    for (const bad of ['', 'x'.repeat(MAX_VIEWER_ID_LENGTH + 1), 'été', 'a b', 'a\nb']) {
      expect(visitorIdentity({ ...upgrade, viewerParam: bad }, 0)).toBeUndefined();
    }
    expect(visitorIdentity({ ...upgrade, viewerParam: 'x'.repeat(MAX_VIEWER_ID_LENGTH) }, 0)).toBeDefined();
  });

  it('reads ?viewer= from a query string', () => {
    expect(viewerParamOf(undefined)).toBeNull();
    expect(viewerParamOf('')).toBeNull();
    expect(viewerParamOf('a=1')).toBeNull();
    expect(viewerParamOf('a=1&viewer=x%2By')).toBe('x+y');
    expect(viewerParamOf('viewer=')).toBe('');
  });
});
