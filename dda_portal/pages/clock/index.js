// The browser's clock for every time the portal shows as "… ago" (table cells and time labels alike): each
// follows it, so an open page keeps "… ago" and what has grown stale right without the server sending anything.
import { ref } from "vue";

export const clock = ref(Date.now());
setInterval(() => (clock.value = Date.now()), 30_000);

// a time this little ahead of the browser's clock is "now": AWS's and the browser's clocks differ by a few seconds
export const SKEW_MS = 5_000;

// how long ago `ms` (epoch milliseconds) was, or how long until it comes, in the words of the server's `ago`
// (humanize's naturaltime). `now` is the reactive clock (it ticks every 30 s, so that the text changes); a time
// that arrived since its last tick is measured against the time of the rendering, never "… from now"
export function agoText(ms, now) {
  now = Math.max(now, Date.now());
  if (ms > now && ms - now < SKEW_MS) return "now";
  const future = ms > now + 999;
  const seconds = Math.floor(Math.abs(now - ms) / 1000);
  const when = future ? "from now" : "ago";
  const say = (n, one, unit) => (n === 1 ? `${one} ${unit} ${when}` : `${n} ${unit}s ${when}`);
  if (seconds < 1) return "now";
  if (seconds < 60) return say(seconds, "a", "second");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return say(minutes, "a", "minute");
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return say(hours, "an", "hour");
  const days = Math.floor(hours / 24);
  if (days < 30) return say(days, "a", "day");
  const months = Math.floor(days / 30.5);
  if (days < 365) return say(Math.max(1, months), "a", "month");
  return say(Math.floor(days / 365), "a", "year");
}
