print("pane")
