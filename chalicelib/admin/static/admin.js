document.getElementById('app').dataset.ready = '1';
