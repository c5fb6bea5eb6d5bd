"""Interface strings of each room, one module per room (a STRINGS dict), merged by dashboards.i18n."""
