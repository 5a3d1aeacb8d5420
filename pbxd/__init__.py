"""pbxd: the CooCenter S10 call-center daemon."""
