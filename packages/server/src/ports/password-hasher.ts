/** Hashes and verifies people's passwords (argon2id in production). */
export interface PasswordHasher {
  /** A self-describing hash (PHC string) with its own salt and parameters. */
  hash(password: string): Promise<string>
  /** Whether `password` matches `hash`, compared in constant time; false for a malformed hash. */
  verify(hash: string, password: string): Promise<boolean>
}
