// NiceGUI's table (q-table) that can also take a few changed rows instead of all of them, and whose cell
// templates are compiled once: NiceGUI's slot templates make a new component definition for every cell at
// every render, so the browser sets up each cell anew, and on every update remounts it (bench/scale.py).
import { agoText, clock } from "dda-clock";

const cellComponents = new Map(); // template → the one component definition made of it

// a long value (S3 URI, ARN, name) in at most `most` characters: its start and its end, which tell values apart
function shortText(text, most) {
  const value = String(text ?? "");
  if (value.length <= most) return value;
  const head = Math.ceil((most - 1) / 3);
  return value.slice(0, head) + "…" + value.slice(value.length - (most - 1 - head));
}

// the clipboard where the page is a secure context (https, loopback), else the old way through a selection
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

const ICON_SIZES = { xs: "18px", sm: "24px", md: "32px", lg: "38px", xl: "46px" }; // Quasar's

function cellComponent(template) {
  let component = cellComponents.get(template);
  if (component === undefined) {
    component = {
      props: { props: { type: Object, default: {} } },
      // per cell: a copy just made (its button shows a check), a long text opened in full
      data: () => ({ copied: false, open: false }),
      computed: {
        // <td v-bind="td">: the cell QTable's QTd draws (its class, the column's alignment and style),
        // without a QTd component per cell
        td() {
          const col = this.props.col || {};
          return { class: "q-td text-" + (col.align || "right"), style: col.style };
        },
      },
      methods: {
        ago(ms) {
          return agoText(ms, clock.value);
        },
        short(text, most = 28) {
          return shortText(text, most);
        },
        async copy(text) {
          await copyText(String(text));
          this.copied = true;
          setTimeout(() => (this.copied = false), 2000);
        },
        // older than `limit` ms by the browser's clock (also when there is no time at all)
        olderThan(ms, limit) {
          return ms === null || ms === undefined || clock.value - ms > limit;
        },
        // <i v-bind="icon(color, size)">name</i>: the markup QIcon draws for a Material icon, without a
        // QIcon component per cell; decorative (the cell's words say the same)
        icon(color, size) {
          return {
            class: "q-icon notranslate material-icons" + (color ? " text-" + color : ""),
            style: { fontSize: ICON_SIZES[size] || size },
            "aria-hidden": "true",
            role: "presentation",
          };
        },
      },
      template,
    };
    cellComponents.set(template, component);
  }
  return component;
}

export default {
  props: {
    cells: { type: Object, default: () => ({}) }, // slot name (body-cell-…) → Vue template using `props`
  },
  template: `
    <q-table ref="qRef">
      <template v-for="(_, slot) in $slots" v-slot:[slot]="slotProps">
        <slot :name="slot" v-bind="slotProps || {}" />
      </template>
      <template v-for="(template, slot) in cells" v-slot:[slot]="slotProps">
        <component :is="cellComponent(template)" :props="slotProps" />
      </template>
    </q-table>
  `,
  methods: {
    cellComponent,
    // rows: the changed (or new) rows; key: the row key; removed: keys of rows that are gone
    patchRows(rows, key, removed) {
      const all = this.$attrs.rows;
      const index = new Map(all.map((row, i) => [row[key], i]));
      for (const row of rows) {
        const i = index.get(row[key]);
        if (i === undefined) all.push(row);
        else all[i] = row;
      }
      if (removed && removed.length) {
        const gone = new Set(removed);
        for (let i = all.length - 1; i >= 0; i--) if (gone.has(all[i][key])) all.splice(i, 1);
      }
    },
  },
};
