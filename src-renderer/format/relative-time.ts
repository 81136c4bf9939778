// "online now", "5 min ago", "3 days ago": how long since a device was seen.

export function lastSeenText(online: boolean, lastSeenMs: number, nowMs: number): string {
  if (online) return 'online now';
  if (!lastSeenMs) return 'never';
  return relativeTime(lastSeenMs, nowMs);
}

export function relativeTime(thenMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 60) return `${days} day${days === 1 ? '' : 's'} ago`;
  return new Date(thenMs).toISOString().slice(0, 10);
}
