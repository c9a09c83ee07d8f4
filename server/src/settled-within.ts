/**
 * Whether `work` settles (resolves or rejects) within `ms` milliseconds; its timer is cleared
 * either way, so nothing is left to keep the process alive. The one deadline of the hub's
 * readiness ping and of every bounded stop (connections, the hub's parts, the worker's).
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
