import type { AdminCredentialRepo } from '../../ports/admin-credential-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { SecretFactory } from '../agents/role-service.js'
import { digestsEqual } from '../secret-compare.js'

export interface AdminIdentity {
  id: string
}

/**
 * Admin credentials are their own kind: opaque bearer secrets with the `mdt_admin_` prefix,
 * stored as digests in their own table. No OAuth grant issues or accepts them, and no agent
 * token is ever looked up here, so an agent's credentials cannot reach the admin API.
 */
export class AdminCredentials {
  private readonly envDigest: string | null

  constructor(
    private readonly repo: AdminCredentialRepo,
    private readonly secrets: SecretFactory,
    private readonly clock: Clock,
    envToken: string | null,
  ) {
    this.envDigest = envToken === null ? null : secrets.digest(envToken)
  }

  async authenticate(token: string): Promise<AdminIdentity | undefined> {
    const digest = this.secrets.digest(token)
    if (this.envDigest !== null && digestsEqual(digest, this.envDigest)) return { id: 'admin:env' }
    const stored = await this.repo.findByDigest(digest)
    return stored && { id: `admin:${stored.id}` }
  }

  /**
   * On the first start with an empty database and no MANDATE_ADMIN_TOKEN, makes an admin
   * token and returns it, to be shown once. Otherwise returns undefined.
   */
  async bootstrap(): Promise<string | undefined> {
    if (this.envDigest !== null || (await this.repo.count()) > 0) return undefined
    const token = this.secrets.newSecret('mdt_admin_')
    const inserted = await this.repo.insertFirst({ id: this.secrets.newId('adm_'), digest: this.secrets.digest(token), label: 'bootstrap', createdAt: this.clock.now() })
    return inserted ? token : undefined
  }
}
