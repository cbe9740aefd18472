/**
 * Who a test of a permission refusal runs its process as. Root may write anywhere, so under a
 * root test run the process runs as nobody, for whom read-only files and folders are read-only
 * too; otherwise as the test run's own user. `user` is for spawn's options (undefined: as is).
 */
export function unprivilegedUser(): { uid: number; user: { uid: number; gid: number } | undefined } {
  return process.getuid?.() === 0 ? { uid: 65534, user: { uid: 65534, gid: 65534 } } : { uid: process.getuid!(), user: undefined };
}
