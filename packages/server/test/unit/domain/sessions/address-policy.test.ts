import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { addressRefusal, neverProbed } from '../../../../src/domain/sessions/address-policy.js'

describe('health-check address policy', () => {
  test('inward addresses are refused unless the host was listed exactly', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) {
      assert.ok(addressRefusal(a, false), `${a} must be refused`)
      assert.equal(addressRefusal(a, true), undefined, `${a} is allowed when listed exactly`)
    }
  })
  test('IPv4 inside IPv6 is judged as the IPv4 address it carries', () => {
    for (const a of ['::7f00:1', '::127.0.0.1', '64:ff9b::a00:1', '2002:c0a8:101::1', '::ffff:10.0.0.1']) {
      assert.ok(addressRefusal(a, false), `${a} must be refused`)
      assert.equal(addressRefusal(a, true), undefined, `${a} is allowed when listed exactly`)
    }
    assert.equal(addressRefusal('2002:5db8:d70e::1', false), undefined, '6to4 of a public address')
    assert.equal(addressRefusal('::1', true), undefined, '::1 is loopback, not 0.0.0.1')
    assert.ok(addressRefusal('::1', false))
  })

  test('public addresses are allowed', () => {
    for (const a of ['93.184.215.14', '8.8.8.8', '2606:4700::1111']) assert.equal(addressRefusal(a, false), undefined, a)
  })
  test('unspecified, multicast, broadcast, link-local and cloud metadata addresses are never probed, listed or not', () => {
    const never = [
      '0.0.0.0', '224.0.0.1', '255.255.255.255', '::', 'ff02::1', '169.254.169.254', '169.254.0.1', 'fe80::1', '::ffff:169.254.169.254', 'fd00:ec2::254', '100.100.100.200',
      // IPv4 inside IPv6: compatible, mapped in hex, NAT64, 6to4.
      '::a9fe:a9fe', '::169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '64:ff9b::169.254.169.254', '2002:a9fe:a9fe::1',
    ]
    for (const a of never) {
      assert.ok(addressRefusal(a, true), a)
      assert.ok(neverProbed(a), a)
    }
    for (const a of ['10.0.0.5', '127.0.0.1', '8.8.8.8', 'fd00::1', 'worker.example.com']) assert.equal(neverProbed(a), undefined, a)
  })
})
