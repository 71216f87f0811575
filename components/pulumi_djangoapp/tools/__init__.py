"""Tools around the component: the offline render and its diff, the program runner, the restore
CLI, the pictures and the scanner's annotations, the stack config table."""
