import { isIP } from 'node:net'

/**
 * The address a per-address bucket is keyed by. IPv4 as it is (an IPv4-mapped IPv6 address
 * counts as its IPv4 address); IPv6 by its /64, the block one subscriber or host usually holds,
 * so one machine cannot get a fresh bucket per address of its prefix.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip
  const bare = ip.replace(/%.*$/, '').toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare)
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!
  if (isIP(bare) !== 6) return bare
  const [head = '', tail] = bare.split('::', 2)
  const groups = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])))
  const h = groups(head)
  const t = tail === undefined ? [] : groups(tail)
  const all = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`
}
