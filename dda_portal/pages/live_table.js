// NiceGUI's table (q-table) that can also take a few changed rows instead of all of them, and whose cell
// templates are compiled once: NiceGUI's slot templates make a new component definition for every cell at
// every render, so the browser sets up each cell anew, and on every update remounts it (bench/scale.py).
const cellComponents = new Map(); // template → the one component definition made of it
const ICON_SIZES = { xs: "18px", sm: "24px", md: "32px", lg: "38px", xl: "46px" }; // Quasar's

function cellComponent(template) {
  let component = cellComponents.get(template);
  if (component === undefined) {
    component = {
      props: { props: { type: Object, default: {} } },
      computed: {
        // <td v-bind="td">: the cell QTable's QTd draws (its class, the column's alignment and style),
        // without a QTd component per cell
        td() {
          const col = this.props.col || {};
          return { class: "q-td text-" + (col.align || "right"), style: col.style };
        },
      },
      methods: {
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
