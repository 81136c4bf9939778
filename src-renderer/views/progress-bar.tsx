/** An accessible progress bar: `value` from 0 to 1, `text` read by screen readers and shown as a tooltip. */
export function ProgressBar({ value, label, text, tone = 'progress' }: { value: number; label: string; text: string; tone?: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div className={`progress tone-${tone}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-valuetext={text} title={text}>
      <div className="progress-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}
