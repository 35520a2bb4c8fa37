export interface AdminCredential {
  id: string
  digest: string
  label: string
  createdAt: number
}

export interface AdminCredentialRepo {
  findByDigest(digest: string): Promise<AdminCredential | undefined>
  count(): Promise<number>
  /** Inserts only if no admin credential exists yet; returns whether it did. */
  insertFirst(credential: AdminCredential): Promise<boolean>
}
