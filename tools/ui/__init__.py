"""Host tools for the web console (ui/): the build that Makefile and the firmware call."""
