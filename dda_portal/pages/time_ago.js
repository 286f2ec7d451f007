// A time outside tables, as table cells show it: "3 hours ago" by the browser's clock, the exact UTC time on
// hover ('—' without a time).
import { agoText, clock } from "dda-clock";

export default {
  props: {
    ms: { type: Number, default: null }, // epoch milliseconds
    exact: { type: String, default: "" }, // the exact UTC time
    prefix: { type: String, default: "" },
    suffix: { type: String, default: "" },
  },
  computed: {
    text() {
      return this.ms === null ? "—" : agoText(this.ms, clock.value);
    },
  },
  template: `<div :title="ms === null ? undefined : exact" :data-time="ms === null ? undefined : exact"
    >{{ prefix }}{{ text }}{{ suffix }}</div>`,
};
