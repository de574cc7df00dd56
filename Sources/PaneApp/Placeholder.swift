enum _PaneAppPlaceholder {}
