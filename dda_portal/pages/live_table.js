// NiceGUI's table (q-table) that can also take a few changed rows instead of all of them.
export default {
  template: `
    <q-table ref="qRef">
      <template v-for="(_, slot) in $slots" v-slot:[slot]="slotProps">
        <slot :name="slot" v-bind="slotProps || {}" />
      </template>
    </q-table>
  `,
  methods: {
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
