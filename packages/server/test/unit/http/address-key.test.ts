import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addressKey } from '../../../src/http/address-key.js'

test('IPv4 addresses are their own key; IPv4-mapped IPv6 counts as the IPv4 address', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7')
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7')
  assert.equal(addressKey('::FFFF:203.0.113.7'), '203.0.113.7')
})

test('IPv6 addresses are keyed by their /64, however they are spelled', () => {
  const key = '2001:db8:1:2::/64'
  for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:0000:0000:0000:0009', '2001:DB8:1:2::abcd', '2001:db8:1:2::1%eth0']) {
    assert.equal(addressKey(ip), key, ip)
  }
  assert.notEqual(addressKey('2001:db8:1:3::1'), key, 'the next /64 is another bucket')
  assert.equal(addressKey('::1'), '0:0:0:0::/64')
  assert.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64')
  assert.equal(addressKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64')
})
