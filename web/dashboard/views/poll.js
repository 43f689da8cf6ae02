// Live views: run a refresh now and again after each one finishes, until stopped.

/** Calls `refresh` every `ms` (never two at once); returns the function that stops it. */
export function every(ms, refresh) {
  let stopped = false;
  let timer;
  const tick = async () => {
    try {
      await refresh();
    } finally {
      if (!stopped) timer = setTimeout(tick, ms);
    }
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
