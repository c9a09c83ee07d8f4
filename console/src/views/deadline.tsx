import { useEffect, useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';

/** The current time, updated every 30 s, for deadlines counting down. */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** A time in the officer's time zone, date and time. */
export function absoluteTime(language: Language, at: number): string {
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' }).format(at);
}

/** "in 2 h 5 min" or "5 min ago", from the hub's time `at`. */
function relative(t: Translate, at: number, now: number): string {
  const minutes = Math.round(Math.abs(at - now) / 60_000);
  const hours = Math.floor(minutes / 60);
  const span =
    hours >= 48
      ? t('time.daysHours', { days: Math.floor(hours / 24), hours: hours % 24 })
      : minutes >= 60
        ? t('time.hoursMinutes', { hours, minutes: minutes % 60 })
        : t('time.minutes', { minutes });
  return at >= now ? t('time.in', { span }) : t('time.ago', { span });
}

/** A deadline counting down, its absolute time on hover (and in `dateTime`). */
export function Deadline({ t, language, at, now }: { t: Translate; language: Language; at: number; now: number }) {
  const absolute = absoluteTime(language, at);
  return (
    <time dateTime={new Date(at).toISOString()} title={absolute} data-at={at}>
      {relative(t, at, now)}
      <span class="visually-hidden"> ({absolute})</span>
    </time>
  );
}
